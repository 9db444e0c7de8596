# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: class definition is not allowed
def execute_command(image):
    class S(str):
        def __str__(self):
            return 1/0
    return S('x')
