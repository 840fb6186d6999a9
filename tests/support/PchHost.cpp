// Nothing of its own: the target that compiles the tests' shared precompiled header.
