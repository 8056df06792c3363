// An empty translation unit that owns the precompiled GoogleTest headers every test target
// reuses (see csml_add_test in cmake/CsmlCompileOptions.cmake).
