# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: '__code__'
def execute_command(image):
    f = lambda: 0
    return str(f.__code__)
