# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: name 'memo' is not defined
def execute_command(image):
    return str(memo)
