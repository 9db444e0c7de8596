# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: decorator is not allowed
def execute_command(image):
    @print
    def f():
        return 1
    return 'x'
