# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: too large
def execute_command(image):
    return 'x' * (10 ** 7)
