/**
 * Debian's Python, which sees the packages .ci/run installs with apt (python3-numpy, python3-protobuf): the
 * independent writers and readers of the tests. Not `python3` from PATH, which may be another interpreter
 * (pyenv, a virtualenv) with other packages or none.
 */
export const DEBIAN_PYTHON = '/usr/bin/python3';
