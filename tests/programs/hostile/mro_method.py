# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: .mro is not allowed
def execute_command(image):
    return str(int.mro())
