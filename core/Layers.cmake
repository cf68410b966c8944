# The engine's folders, lowest first. A folder may include only its own headers and those of
# the folders before it; core/CMakeLists.txt builds one library per folder against an include
# view of exactly those headers, and tests/core/check_layering.cmake checks every include.
set(MQB_CORE_LAYERS support io runtime model inference metrics quant quant/int8 study demo)
