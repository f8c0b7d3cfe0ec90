// SPDX-License-Identifier: GPL-2.0
/*
 * vtrust_vmgenid: the VM generation ID and the kernel's VM-fork events,
 * readable by any process without a system call.
 *
 * QEMU's vmgenid device keeps the 16-byte generation ID in a page of guest
 * RAM of its own (fw_cfg blob "etc/vmgenid_guid", 4 KiB, page-aligned, the
 * ID at offset 40) and writes a new ID there before any vCPU runs again
 * after a restore. The ACPI device QEMUVGID tells where, through its ADDR
 * method. Linux's own vmgenid driver binds that device; this module does
 * not: it finds the device by walking the ACPI namespace and only evaluates
 * ADDR.
 *
 * /dev/vtrust-vmgenid (mode 0444, read-only mappings only):
 *   mmap offset 0          the page holding the ID (the ID at state->id_offset)
 *   mmap offset PAGE_SIZE  the state page (struct vtrust_vmgenid_state below),
 *                          whose vmfork_count is bumped from the kernel's
 *                          VM-fork notifier, i.e. after the kernel has
 *                          reseeded its own crng for the new VM
 *   read()                 8 bytes: the current vmfork_count
 *   poll()                 POLLIN once vmfork_count differs from the value
 *                          this open file last read
 *
 * The page holding the ID is mapped only when it can hold nothing else: the
 * device must be QEMU's (HID QEMUVGID) and the ID must sit at offset 40 of
 * its page, which is QEMU's page-aligned 4 KiB blob.
 */
#include <linux/acpi.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include <linux/wait.h>

#define VTVG_MAGIC 0x47565456u /* "VTVG" little-endian */
#define VTVG_VERSION 1u
#define VTVG_ID_OFFSET 40u     /* QEMU's VMGENID_GUID_OFFSET */
#define VTVG_ID_LEN 16u

#define VTVG_F_ID 1u           /* page 0 holds the ID at id_offset */
#define VTVG_F_VMFORK 2u       /* vmfork_count follows the kernel's VM-fork notifier */

/* The state page, as a process sees it at mmap offset PAGE_SIZE. */
struct vtrust_vmgenid_state {
	__u32 magic;
	__u32 version;
	__u32 flags;
	__u32 id_offset;
	__u64 vmfork_count; /* only ever incremented */
};

#if IS_ENABLED(CONFIG_VMGENID) && LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
#define VTVG_HAVE_VMFORK 1
#else
#define VTVG_HAVE_VMFORK 0
#endif

static struct page *state_page;
static struct vtrust_vmgenid_state *state;
static unsigned long id_pfn;
static DECLARE_WAIT_QUEUE_HEAD(vmfork_wait);

static atomic64_t *vmfork_counter(void)
{
	BUILD_BUG_ON(sizeof(atomic64_t) != sizeof(__u64));
	return (atomic64_t *)&state->vmfork_count;
}

#if VTVG_HAVE_VMFORK
static int vmfork_notify(struct notifier_block *nb, unsigned long action, void *data)
{
	/* Called after add_vmfork_randomness() reseeded the crng. */
	atomic64_inc(vmfork_counter());
	wake_up_interruptible_all(&vmfork_wait);
	return NOTIFY_DONE;
}

static struct notifier_block vmfork_nb = { .notifier_call = vmfork_notify };
#endif

static acpi_status find_device(acpi_handle handle, u32 level, void *ctx, void **ret)
{
	*(acpi_handle *)ret = handle;
	return AE_CTRL_TERMINATE;
}

/* Physical address of the 16-byte ID, from the device's ADDR method. */
static int find_id_address(phys_addr_t *addr)
{
	struct acpi_buffer buf = { ACPI_ALLOCATE_BUFFER, NULL };
	acpi_handle dev = NULL;
	union acpi_object *obj;
	acpi_status st;
	int r = -ENODEV;

	st = acpi_get_devices("QEMUVGID", find_device, NULL, (void **)&dev);
	if (ACPI_FAILURE(st) || !dev) {
		pr_err("vtrust_vmgenid: no ACPI device QEMUVGID: start QEMU with -device vmgenid\n");
		return -ENODEV;
	}
	st = acpi_evaluate_object(dev, "ADDR", NULL, &buf);
	if (ACPI_FAILURE(st)) {
		pr_err("vtrust_vmgenid: QEMUVGID.ADDR failed: %s\n", acpi_format_exception(st));
		return -ENODEV;
	}
	obj = buf.pointer;
	if (obj && obj->type == ACPI_TYPE_PACKAGE && obj->package.count == 2 &&
	    obj->package.elements[0].type == ACPI_TYPE_INTEGER &&
	    obj->package.elements[1].type == ACPI_TYPE_INTEGER) {
		u64 lo = obj->package.elements[0].integer.value;
		u64 hi = obj->package.elements[1].integer.value;

		*addr = (phys_addr_t)((hi << 32) | (lo & 0xffffffffu));
		r = 0;
	} else {
		pr_err("vtrust_vmgenid: QEMUVGID.ADDR did not return two integers\n");
	}
	ACPI_FREE(buf.pointer);
	return r;
}

static int vtvg_open(struct inode *inode, struct file *file)
{
	u64 *seen = kmalloc(sizeof(*seen), GFP_KERNEL);

	if (!seen)
		return -ENOMEM;
	*seen = atomic64_read(vmfork_counter());
	file->private_data = seen;
	return 0;
}

static int vtvg_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t vtvg_read(struct file *file, char __user *buf, size_t len, loff_t *pos)
{
	u64 *seen = file->private_data;
	u64 now = atomic64_read(vmfork_counter());

	if (len < sizeof(now))
		return -EINVAL;
	if (copy_to_user(buf, &now, sizeof(now)))
		return -EFAULT;
	*seen = now;
	return sizeof(now);
}

static __poll_t vtvg_poll(struct file *file, poll_table *wait)
{
	u64 *seen = file->private_data;

	poll_wait(file, &vmfork_wait, wait);
	return atomic64_read(vmfork_counter()) != *seen ? EPOLLIN | EPOLLRDNORM : 0;
}

static int vtvg_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long pages = vma_pages(vma), i;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (vma->vm_pgoff > 1 || pages > 2 - vma->vm_pgoff)
		return -EINVAL;
	/* No mprotect() to writable later; no mremap() growth; not in core dumps. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYWRITE);
#else
	vma->vm_flags &= ~VM_MAYWRITE;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
#endif
	for (i = 0; i < pages; i++) {
		unsigned long pfn = vma->vm_pgoff + i == 0 ? id_pfn : page_to_pfn(state_page);
		int r = remap_pfn_range(vma, vma->vm_start + i * PAGE_SIZE, pfn, PAGE_SIZE,
					vma->vm_page_prot);
		if (r)
			return r;
	}
	return 0;
}

static const struct file_operations vtvg_fops = {
	.owner = THIS_MODULE,
	.open = vtvg_open,
	.release = vtvg_release,
	.read = vtvg_read,
	.poll = vtvg_poll,
	.mmap = vtvg_mmap,
	.llseek = noop_llseek,
};

static struct miscdevice vtvg_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vtrust-vmgenid",
	.fops = &vtvg_fops,
	.mode = 0444,
};

static int __init vtvg_init(void)
{
	phys_addr_t addr;
	int r;

	if (acpi_disabled) {
		pr_err("vtrust_vmgenid: ACPI is disabled: the generation ID cannot be found\n");
		return -ENODEV;
	}
	r = find_id_address(&addr);
	if (r)
		return r;
	if (!addr || offset_in_page(addr) != VTVG_ID_OFFSET) {
		pr_err("vtrust_vmgenid: ID at %pa is not at offset %u of a page of its own (QEMU's layout): refusing to map it\n",
		       &addr, VTVG_ID_OFFSET);
		return -ENODEV;
	}
	id_pfn = PHYS_PFN(addr);

	state_page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!state_page)
		return -ENOMEM;
	state = page_address(state_page);
	state->magic = VTVG_MAGIC;
	state->version = VTVG_VERSION;
	state->id_offset = VTVG_ID_OFFSET;
	state->flags = VTVG_F_ID;

#if VTVG_HAVE_VMFORK
	r = register_random_vmfork_notifier(&vmfork_nb);
	if (r) {
		pr_err("vtrust_vmgenid: register_random_vmfork_notifier failed (%d)\n", r);
		goto free_page;
	}
	state->flags |= VTVG_F_VMFORK;
#endif
	r = misc_register(&vtvg_dev);
	if (r)
		goto unregister;
	pr_info("vtrust_vmgenid: /dev/%s: ID page %#llx, vmfork counter %s\n", vtvg_dev.name,
		(unsigned long long)addr - VTVG_ID_OFFSET,
		(state->flags & VTVG_F_VMFORK) ? "live" : "absent (kernel without VMGENID or < 6.0)");
	return 0;

unregister:
#if VTVG_HAVE_VMFORK
	unregister_random_vmfork_notifier(&vmfork_nb);
free_page:
#endif
	__free_page(state_page);
	return r;
}

static void __exit vtvg_exit(void)
{
	/* Open files and mappings hold a module reference: nothing maps these pages now. */
	misc_deregister(&vtvg_dev);
#if VTVG_HAVE_VMFORK
	unregister_random_vmfork_notifier(&vmfork_nb);
#endif
	__free_page(state_page);
}

module_init(vtvg_init);
module_exit(vtvg_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("VM generation ID and VM-fork counter, mapped read-only for user space");
MODULE_AUTHOR("vtrust");
