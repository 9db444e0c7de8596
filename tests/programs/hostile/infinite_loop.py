# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: timeout
# error: limit
def execute_command(image):
    while True:
        pass
