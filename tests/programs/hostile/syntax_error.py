# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: syntax error
def execute_command(image):
    return ((
