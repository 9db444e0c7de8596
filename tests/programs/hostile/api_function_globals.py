# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: '__globals__'
def execute_command(image):
    return str(best_image_match.__globals__['re'])
