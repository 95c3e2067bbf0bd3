#include "netd/tunnel/program.hpp"

int main(int argc, char** argv) { return netd::tunnel::main(argc, argv); }
