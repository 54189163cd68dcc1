/*
 * A stand-in libnvidia-ml.so.1 for the tests: it serves the NVML calls sd-doctor's probe makes (through the real
 * pynvml, which looks every function up by name with ctypes) from a small text file named by NVML_STUB_CONFIG.
 *
 * Config lines (key=value, '#' comments):
 *   init=ok | fail:<nvml error code> | hang      what nvmlInit* does (hang: sleeps 120 s, a wedged driver)
 *   driver=535.104.05                             nvmlSystemGetDriverVersion
 *   cuda=12020                                    nvmlSystemGetCudaDriverVersion(_v2)
 *   v2=1 | 0                                      0: nvmlDeviceGetMemoryInfo_v2 answers NVML_ERROR_NOT_SUPPORTED
 *   count=N
 *   deviceI.name=NVIDIA GeForce GTX 1650
 *   deviceI.total=<bytes>  deviceI.free=<bytes>  deviceI.reserved=<bytes>
 *   deviceI.cc=7.5                                nvmlDeviceGetCudaComputeCapability
 *   deviceI.uuid=GPU-...
 *   deviceI.memory=fail:<nvml error code>         nvmlDeviceGetMemoryInfo and _v2 both fail (a card whose memory
 *                                                 NVML cannot read)
 * Built with -DNO_MEMORY_V2 the library lacks the nvmlDeviceGetMemoryInfo_v2 symbol (drivers before 510).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DEVICES 8
#define OK 0
#define ERR_UNINITIALIZED 1
#define ERR_INVALID_ARGUMENT 2
#define ERR_NOT_SUPPORTED 3
#define ERR_INSUFFICIENT_SIZE 7
#define ERR_ARGUMENT_VERSION_MISMATCH 25
#define MEMORY_V2_VERSION 0x02000028u

typedef struct {
    char name[96];
    char uuid[80];
    unsigned long long total, free, reserved;
    int cc_major, cc_minor;
    int memory_error;
} device_t;

typedef struct {
    unsigned long long total, free, used;
} memory_v1_t;

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} memory_v2_t;

static device_t devices[MAX_DEVICES];
static unsigned int device_count = 0;
static char driver_version[80] = "535.104.05";
static int cuda_version = 12020;
static int v2_supported = 1;
static int init_result = OK;
static int init_hang = 0;
static int initialised = 0;

static void trim(char *s) {
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ')) s[--n] = 0;
}

static void load_config(void) {
    const char *path = getenv("NVML_STUB_CONFIG");
    char line[512];
    FILE *fh;
    if (!path || !(fh = fopen(path, "r"))) return;
    while (fgets(line, sizeof line, fh)) {
        char *eq, *key, *value;
        trim(line);
        if (!line[0] || line[0] == '#' || !(eq = strchr(line, '='))) continue;
        *eq = 0;
        key = line;
        value = eq + 1;
        if (!strcmp(key, "init")) {
            if (!strcmp(value, "hang")) init_hang = 1;
            else if (!strncmp(value, "fail:", 5)) init_result = atoi(value + 5);
        } else if (!strcmp(key, "driver")) {
            snprintf(driver_version, sizeof driver_version, "%s", value);
        } else if (!strcmp(key, "cuda")) {
            cuda_version = atoi(value);
        } else if (!strcmp(key, "v2")) {
            v2_supported = atoi(value);
        } else if (!strcmp(key, "count")) {
            device_count = (unsigned)atoi(value);
            if (device_count > MAX_DEVICES) device_count = MAX_DEVICES;
        } else if (!strncmp(key, "device", 6)) {
            char *dot = strchr(key, '.');
            int i = atoi(key + 6);
            device_t *d;
            if (!dot || i < 0 || i >= MAX_DEVICES) continue;
            d = &devices[i];
            dot++;
            if (!strcmp(dot, "name")) snprintf(d->name, sizeof d->name, "%s", value);
            else if (!strcmp(dot, "uuid")) snprintf(d->uuid, sizeof d->uuid, "%s", value);
            else if (!strcmp(dot, "total")) d->total = strtoull(value, NULL, 10);
            else if (!strcmp(dot, "free")) d->free = strtoull(value, NULL, 10);
            else if (!strcmp(dot, "reserved")) d->reserved = strtoull(value, NULL, 10);
            else if (!strcmp(dot, "cc")) sscanf(value, "%d.%d", &d->cc_major, &d->cc_minor);
            else if (!strcmp(dot, "memory") && !strncmp(value, "fail:", 5)) d->memory_error = atoi(value + 5);
        }
    }
    fclose(fh);
}

static int do_init(void) {
    load_config();
    if (init_hang) sleep(120);
    if (init_result != OK) return init_result;
    initialised = 1;
    return OK;
}

int nvmlInit(void) { return do_init(); }
int nvmlInit_v2(void) { return do_init(); }
int nvmlInitWithFlags(unsigned int flags) { (void)flags; return do_init(); }
int nvmlShutdown(void) { initialised = 0; return OK; }

const char *nvmlErrorString(int result) {
    switch (result) {
    case OK: return "Success";
    case ERR_UNINITIALIZED: return "Uninitialized";
    case ERR_NOT_SUPPORTED: return "Not Supported";
    case 9: return "Driver Not Loaded";
    case 18: return "RM has detected an NVML/RM version mismatch.";
    default: return "Unknown Error";
    }
}

static int copy_string(const char *src, char *dst, unsigned int length) {
    if (!dst) return ERR_INVALID_ARGUMENT;
    if (strlen(src) + 1 > length) return ERR_INSUFFICIENT_SIZE;
    strcpy(dst, src);
    return OK;
}

static device_t *device_of(void *handle) {
    device_t *d = (device_t *)handle;
    if (d < devices || d >= devices + device_count) return NULL;
    return d;
}

int nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    if (!initialised) return ERR_UNINITIALIZED;
    return copy_string(driver_version, version, length);
}

int nvmlSystemGetCudaDriverVersion(int *version) {
    if (!version) return ERR_INVALID_ARGUMENT;
    *version = cuda_version;
    return OK;
}

int nvmlSystemGetCudaDriverVersion_v2(int *version) { return nvmlSystemGetCudaDriverVersion(version); }

int nvmlDeviceGetCount_v2(unsigned int *count) {
    if (!initialised) return ERR_UNINITIALIZED;
    if (!count) return ERR_INVALID_ARGUMENT;
    *count = device_count;
    return OK;
}

int nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device) {
    if (!initialised) return ERR_UNINITIALIZED;
    if (index >= device_count || !device) return ERR_INVALID_ARGUMENT;
    *device = &devices[index];
    return OK;
}

int nvmlDeviceGetHandleByIndex(unsigned int index, void **device) { return nvmlDeviceGetHandleByIndex_v2(index, device); }

int nvmlDeviceGetName(void *handle, char *name, unsigned int length) {
    device_t *d = device_of(handle);
    if (!d) return ERR_INVALID_ARGUMENT;
    return copy_string(d->name, name, length);
}

int nvmlDeviceGetUUID(void *handle, char *uuid, unsigned int length) {
    device_t *d = device_of(handle);
    if (!d) return ERR_INVALID_ARGUMENT;
    if (!d->uuid[0]) return ERR_NOT_SUPPORTED;
    return copy_string(d->uuid, uuid, length);
}

int nvmlDeviceGetMemoryInfo(void *handle, memory_v1_t *memory) {
    device_t *d = device_of(handle);
    if (!d || !memory) return ERR_INVALID_ARGUMENT;
    if (d->memory_error) return d->memory_error;
    /* v1 folds the reserved memory into "used", as real drivers do */
    memory->total = d->total;
    memory->free = d->free;
    memory->used = d->total - d->free;
    return OK;
}

#ifndef NO_MEMORY_V2
int nvmlDeviceGetMemoryInfo_v2(void *handle, memory_v2_t *memory) {
    device_t *d = device_of(handle);
    if (!d || !memory) return ERR_INVALID_ARGUMENT;
    if (d->memory_error) return d->memory_error;
    if (!v2_supported) return ERR_NOT_SUPPORTED;
    if (memory->version != MEMORY_V2_VERSION) return ERR_ARGUMENT_VERSION_MISMATCH;
    memory->total = d->total;
    memory->reserved = d->reserved;
    memory->free = d->free;
    memory->used = d->total - d->free - d->reserved;
    return OK;
}
#endif

int nvmlDeviceGetCudaComputeCapability(void *handle, int *major, int *minor) {
    device_t *d = device_of(handle);
    if (!d || !major || !minor) return ERR_INVALID_ARGUMENT;
    *major = d->cc_major;
    *minor = d->cc_minor;
    return OK;
}
