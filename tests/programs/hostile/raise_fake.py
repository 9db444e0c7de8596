# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: raise is not allowed
def execute_command(image):
    raise MemoryError('fake')
