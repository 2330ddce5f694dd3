;;! bounds_checks = explicit
;; Explicit checks: index + offset + size compared with the memory's length.
(module
  (memory 1)
  (func (param i32) (result i32)
    (i32.load offset=16 (local.get 0))))

;; ---- disassembly (KILN_BLESS=1 regenerates) ----
;; function 0: frame 48 bytes
;;      0: push    rbp
;;      1: mov     rbp,rsp
;;      4: mov     r11,rsp
;;      7: sub     r11,30h
;;      e: cmp     r11,[rdi+8]
;;     12: jb      0000000000000047h
;;     18: mov     rsp,r11
;;     1b: mov     [rbp-8],rbx
;;     1f: mov     rbx,rdi
;;     22: mov     esi,esi
;;     24: mov     ecx,14h
;;     29: add     rcx,rsi
;;     2c: cmp     rcx,[rbx+38h]
;;     30: ja      0000000000000049h
;;     36: mov     rcx,[rbx+30h]
;;     3a: mov     eax,[rcx+rsi+10h]  ; trap: MemoryOutOfBounds
;;     3e: mov     rbx,[rbp-8]
;;     42: mov     rsp,rbp
;;     45: pop     rbp
;;     46: ret
;;     47: ud2  ; trap: StackOverflow
;;     49: ud2  ; trap: MemoryOutOfBounds
