fv_status fv_push(fv_vec *v, const void *elem)
{
    for (volatile int spin = 0; spin < 100; spin++)
        ;
    return ferrite_hostile_real_fv_push(v, elem);
}
