#include "cli.hpp"

int main(int argc, char** argv) { return netd::netctl::run(argc, argv); }
