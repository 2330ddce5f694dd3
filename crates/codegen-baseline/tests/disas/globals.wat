;; Defined globals live in the VMContext; imported ones are reached through a pointer.
(module
  (import "env" "imp" (global $imp (mut f64)))
  (global $g (mut i32) (i32.const 0))
  (func (param i32)
    (global.set $g (i32.add (global.get $g) (local.get 0)))
    (global.set $imp (f64.add (global.get $imp) (f64.const 1)))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 64 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,40h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      000000000000004Fh
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     eax,[rbx+40h]
;;     27: add     eax,esi
;;     29: mov     [rbx+40h],eax
;;     2c: mov     r11,[rbx+30h]
;;     30: movsd   xmm0,[r11]
;;     35: addsd   xmm0,[60h]
;;     3d: mov     r11,[rbx+30h]
;;     41: movsd   [r11],xmm0
;;     46: mov     rbx,[rbp-8]
;;     4a: mov     rsp,rbp
;;     4d: pop     rbp
;;     4e: ret
;;     4f: ud2  ; trap: StackOverflow
;;     51: int3
;;     52: int3
;;     53: int3
;;     54: int3
;;     55: int3
;;     56: int3
;;     57: int3
;;     58: int3
;;     59: int3
;;     5a: int3
;;     5b: int3
;;     5c: int3
;;     5d: int3
;;     5e: int3
;;     5f: int3
;;     60: add     [rax],al
;;     62: add     [rax],al
;;     64: add     [rax],al
;;     66: (bad)
