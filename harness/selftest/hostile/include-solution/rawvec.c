#include "@WORKBOOK@/solutions/01-ownership-buffers/rawvec.c"
