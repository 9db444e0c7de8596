# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: tool-call limit
def execute_command(image):
    n = 0
    for i in range(100000):
        n += len(image.find('star ' + str(i)))
    return str(n)
