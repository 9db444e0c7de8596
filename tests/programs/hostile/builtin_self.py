# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: '__self__'
def execute_command(image):
    return str(print.__self__)
