#include "@WORKBOOK@/solutions/01-ownership-buffers/vec.c"
