# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: RecursionError
def execute_command(image):
    x = []
    for _ in range(20000):
        x = [x]
    return str(x)
