# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: import is not allowed
def execute_command(image):
    def helper():
        import socket
        return socket
    return str(helper())
