# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: memory
# error: memory limit
def execute_command(image):
    x = [0] * (10 ** 10)
    return str(len(x))
