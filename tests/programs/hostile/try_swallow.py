# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: try is not allowed
def execute_command(image):
    try:
        return 'x'
    except BaseException:
        return 'y'
