# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: RecursionError
def execute_command(image):
    def f(n):
        return f(n + 1) + 1
    return str(f(0))
