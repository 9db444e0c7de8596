# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: eval is not allowed
def execute_command(image):
    return eval('1 + 1')
