# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: memory
# error: memory limit
def execute_command(image):
    return str(len(sorted(range(10 ** 9))))
