/*
 * replay.c - runs a fuzz target over every file of a corpus directory, so
 * that seed corpora (and every crash found and fixed) replay as ordinary
 * tests without libFuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
replay_file(const char *path)
{
    unsigned char *data;
    FILE *f = fopen(path, "rb");
    long size;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t) size + 1);
    if (data == NULL || fread(data, 1, (size_t) size, f) != (size_t) size) {
        fclose(f);
        free(data);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, (size_t) size);
    free(data);
    return 0;
}

int
main(int argc, char **argv)
{
    struct dirent *de;
    char path[4096];
    int n = 0;
    DIR *d;

    if (argc != 2 || (d = opendir(argv[1])) == NULL) {
        fprintf(stderr, "usage: %s CORPUS_DIR (a readable directory)\n",
                argv[0]);
        return 2;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
        if (replay_file(path) != 0) {
            closedir(d);
            return 1;
        }
        n++;
    }
    closedir(d);
    printf("replayed %d inputs\n", n);
    return n > 0 ? 0 : 1;
}
