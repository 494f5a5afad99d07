__attribute__((constructor)) static void store_through_null(void)
{
    int *nowhere = 0;
    *nowhere = 1;
}
