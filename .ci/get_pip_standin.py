"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads.

ansible-test fetches get-pip.py from ci-files.testing.ansible.com, which this network cannot reach.
It only needs pip of a given version in a fresh virtual environment, which ensurepip and PyPI
provide just as well. Called as get-pip.py is: ``python get_pip.py [pip install args...]``.
"""
import subprocess
import sys

args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'], stdout=subprocess.DEVNULL)
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet'] + args)
