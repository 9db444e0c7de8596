# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: assigning to an attribute
def execute_command(image):
    best_image_match.cache = {}
    return 'x'
