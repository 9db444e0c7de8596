# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: global is not allowed
def execute_command(image):
    global image
    return 'x'
