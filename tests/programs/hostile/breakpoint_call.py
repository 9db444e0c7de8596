# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: breakpoint is not allowed
def execute_command(image):
    breakpoint()
    return 'x'
