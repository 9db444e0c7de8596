# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: must return
def execute_command(image):
    return print
