fv_status fv_shrink_to_fit(fv_vec *v)
{
    volatile unsigned long spin = 0;
    for (;;)
        spin++;
    return ferrite_hostile_real_fv_shrink_to_fit(v);
}
