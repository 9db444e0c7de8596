# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: must return
def execute_command(image):
    for _ in range(300):
        print('x' * 1000000)
    return image
