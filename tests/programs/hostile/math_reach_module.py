# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: AttributeError: math has no attribute 'sys'
def execute_command(image):
    return str(math.sys.modules)
