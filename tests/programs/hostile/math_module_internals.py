# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: attribute '__self__' starts with an underscore
def execute_command(image):
    return str(math.sqrt.__self__)
