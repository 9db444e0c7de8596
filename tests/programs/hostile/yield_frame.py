# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: yield is not allowed
def execute_command(image):
    yield image
    return 'x'
