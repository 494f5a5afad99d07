#include "@WORKBOOK@/solutions/01-ownership-buffers/vec_iter.c"
