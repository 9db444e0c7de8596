# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: name 'os' is not defined
def execute_command(image):
    os.fork()
    return 'x'
