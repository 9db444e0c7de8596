# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: exec is not allowed
def execute_command(image):
    exec('import os')
    return 'x'
