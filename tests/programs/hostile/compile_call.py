# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: compile is not allowed
def execute_command(image):
    return str(compile('1', 'f', 'eval'))
