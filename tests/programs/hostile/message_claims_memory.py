# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: KeyError
def execute_command(image):
    return {}['MemoryError: memory limit exceeded']
