# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: assigning to an attribute is not allowed
def execute_command(image):
    math.floor = print
    return 'yes'
