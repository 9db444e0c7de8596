# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: name 'threading' is not defined
def execute_command(image):
    threading.Thread(target=print).start()
    return 'x'
