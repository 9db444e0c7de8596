# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: object is not allowed
def execute_command(image):
    return str(object)
