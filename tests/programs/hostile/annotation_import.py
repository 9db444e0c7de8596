# A hostile program; tests/programs/test_hostile.py runs every file here.
# expect: rejected
# error: __import__ is not allowed
def execute_command(image) -> __import__('os').system('touch /tmp/pwned'):
    return 'yes'
