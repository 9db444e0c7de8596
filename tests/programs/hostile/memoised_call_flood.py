# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: error
# error: tool-call limit
def execute_command(image):
    while True:
        image.find('star')
